/** The names of the prompt styles (personalize/prompt-styles.ts holds their words); a preset names one. */
export type PromptStyleName = 'official' | 'pmg';
