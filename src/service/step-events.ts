/**
 * A running job's denoising steps as 'step' events: one per step, sent after that step's x0 previews are on disk so
 * a client that gets the event can fetch them (`previews: [{ candidate, image }]`), or with `previews: []` when the
 * step had none (the last step, or nobody watched the job, so the engine skipped the decode). The job's progress
 * (`GET /v1/generations/{id}`) follows every step.
 */
import type { StepPreview } from '../pipeline/step-preview.js';
import type { JobEvents } from './job-events.js';
import type { JobFiles } from './job-files.js';
import type { JobControl } from './job-runner.js';

export class StepEvents {
  private pending: { step: number; total: number } | undefined;

  constructor(
    private readonly id: string,
    private readonly events: JobEvents,
    private readonly files: JobFiles,
    private readonly control: JobControl,
  ) {}

  /** Previews are worth decoding only while someone follows the job's events. */
  readonly wanted = (): boolean => this.events.watched(this.id);

  /** Step `step` of `total` is done (0: about to start); its event waits for the step's preview, if one comes. */
  step(step: number, total: number): void {
    if (step > 0 && this.pending?.step === step) return; // a scheduler's extra UNet call within the same step
    this.flush();
    this.control.progress({ stage: 'generate', step, total });
    if (step > 0) this.pending = { step, total };
  }

  /** Writes the preview's images, then sends the step's event with them. */
  async preview(preview: StepPreview): Promise<void> {
    const written = await this.files.writePreviews(this.id, preview);
    this.control.addImages(written.map((w) => w.image));
    const total = this.pending?.total ?? preview.requestedSteps;
    this.pending = undefined;
    this.events.emit(this.id, 'step', { step: preview.stepsDone, total, previews: written, version: preview.stepsDone });
  }

  /** Sends the event of a step that had no preview. */
  flush(): void {
    if (!this.pending) return;
    const { step, total } = this.pending;
    this.pending = undefined;
    this.events.emit(this.id, 'step', { step, total, previews: [], version: step });
  }
}
