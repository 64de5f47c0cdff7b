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
    this.previewWritten(preview.stepsDone, preview.requestedSteps, await this.files.writePreviews(this.id, preview));
  }

  /** The same for a step's previews already encoded as PNGs (relayed by a queue worker). */
  async encodedPreview(stepsDone: number, requestedSteps: number, pngs: readonly { candidate: number; png: Uint8Array }[]): Promise<void> {
    this.previewWritten(stepsDone, requestedSteps, await this.files.writePreviewPngs(this.id, pngs));
  }

  private previewWritten(stepsDone: number, requestedSteps: number, written: { candidate: number; image: string }[]): void {
    this.control.addImages(written.map((w) => w.image));
    const total = this.pending?.total ?? requestedSteps;
    this.pending = undefined;
    this.events.emit(this.id, 'step', { step: stepsDone, total, previews: written, version: stepsDone });
  }

  /** Sends the event of a step that had no preview. */
  flush(): void {
    if (!this.pending) return;
    const { step, total } = this.pending;
    this.pending = undefined;
    this.events.emit(this.id, 'step', { step, total, previews: [], version: step });
  }
}
