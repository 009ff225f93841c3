import { describe, expect, it } from 'vitest';
import { LATENCY_JOB_LIMITS, type LatencyJobData, latencyJobProblem } from './queues.js';

const job: LatencyJobData = {
  tenantId: 't1',
  versionIds: ['a', 'b'],
  batches: [1, 32],
  runs: 30,
  warmUpRuns: 5,
};

describe('latencyJobProblem', () => {
  it('accepts what the trainer asks for an optimised version', () => {
    expect(latencyJobProblem(job)).toBeUndefined();
  });

  it('bounds the work a job can make a serving worker do', () => {
    const { versions, batches, maxBatch, runs } = LATENCY_JOB_LIMITS;
    expect(latencyJobProblem({ ...job, versionIds: [] })).toMatch(/versions/);
    expect(
      latencyJobProblem({ ...job, versionIds: Array.from({ length: versions + 1 }, String) }),
    ).toMatch(/versions/);
    expect(latencyJobProblem({ ...job, batches: Array(batches + 1).fill(1) })).toMatch(/batch/);
    expect(latencyJobProblem({ ...job, batches: [maxBatch + 1] })).toMatch(/batches 1 to/);
    expect(latencyJobProblem({ ...job, batches: [0.5] })).toMatch(/batches 1 to/);
    expect(latencyJobProblem({ ...job, runs: runs + 1 })).toMatch(/runs/);
    expect(latencyJobProblem({ ...job, warmUpRuns: -1 })).toMatch(/runs/);
    expect(latencyJobProblem({ ...job, tenantId: 7 as unknown as string })).toMatch(/tenant/);
  });
});
