/**
 * The phase of every job as the last pass computed it, behind the `streamkeeper_jobs{phase}`
 * gauge. Only the leader tracks; a replica that stops leading resets the gauge to zero.
 */
import type { JobPhase } from '../api/v1alpha1/index.js';
import { setJobPhaseCounts, type JobPhaseLabel } from '../metrics/index.js';

export class JobPhaseTracker {
  private readonly phases = new Map<string, JobPhase>();

  set(key: string, phase: JobPhase): void {
    if (this.phases.get(key) === phase) return;
    this.phases.set(key, phase);
    this.publish();
  }

  forget(key: string): void {
    if (this.phases.delete(key)) this.publish();
  }

  reset(): void {
    this.phases.clear();
    this.publish();
  }

  counts(): Partial<Record<JobPhaseLabel, number>> {
    const counts: Partial<Record<JobPhaseLabel, number>> = {};
    for (const phase of this.phases.values()) counts[phase] = (counts[phase] ?? 0) + 1;
    return counts;
  }

  private publish(): void {
    setJobPhaseCounts(this.counts());
  }
}
