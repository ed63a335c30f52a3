/**
 * systemd1 jobs as clients see them: a job id and path announced with JobNew, and JobRemoved with
 * its result when the work is over. Our jobs do their work at once or wait for a machine to go;
 * `machinectl` and libvirt only ever wait for JobRemoved.
 */
import { SYSTEMD1_JOB_PATH_PREFIX } from '@machined/protocol';

export interface JobEvents {
  jobNew(id: number, path: string, unit: string): void;
  jobRemoved(id: number, path: string, unit: string, result: 'done' | 'failed' | 'canceled'): void;
}

export interface Job {
  id: number;
  path: string;
  unit: string;
  type: 'start' | 'stop';
  finish(result: 'done' | 'failed' | 'canceled'): void;
}

export class Jobs {
  private next = 1;
  private readonly running = new Map<number, Job>();

  constructor(private readonly events: JobEvents) {}

  create(unit: string, type: Job['type']): Job {
    const id = this.next++;
    const path = `${SYSTEMD1_JOB_PATH_PREFIX}/${id}`;
    const job: Job = {
      id,
      path,
      unit,
      type,
      finish: (result) => {
        if (!this.running.delete(id)) return;
        this.events.jobRemoved(id, path, unit, result);
      },
    };
    this.running.set(id, job);
    this.events.jobNew(id, path, unit);
    return job;
  }

  get(id: number): Job | undefined {
    return this.running.get(id);
  }

  forUnit(unit: string): Job[] {
    return [...this.running.values()].filter((j) => j.unit === unit);
  }
}
