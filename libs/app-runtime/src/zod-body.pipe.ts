import { type PipeTransform } from '@nestjs/common';
import type { z } from 'zod';
import { DomainError } from './errors.js';

/** Validates a request body (or query) against a zod schema; failures are 400s naming the field. */
export class ZodPipe<T extends z.ZodType> implements PipeTransform<unknown, z.infer<T>> {
  constructor(private readonly schema: T) {}

  transform(value: unknown): z.infer<T> {
    const result = this.schema.safeParse(value ?? {});
    if (result.success) return result.data;
    const detail = result.error.issues
      .map((issue) =>
        issue.path.length ? `${issue.path.join('.')}: ${issue.message}` : issue.message,
      )
      .join('; ');
    throw new DomainError('INVALID_ARGUMENT', detail);
  }
}
