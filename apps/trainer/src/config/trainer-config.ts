import { Global, Module, type DynamicModule } from '@nestjs/common';
import { env, sharedConfigShape } from '@maas/config';
import { z } from 'zod';

export const trainerConfigSchema = z.object({
  ...sharedConfigShape,
  /** Health and metrics only; the trainer takes its work from the queue. */
  PORT: env.port(3002),
  TRAINER_CONCURRENCY: env.positiveInt(1),
  /** Which TensorFlow.js backend to train on; auto picks the best one installed. */
  TFJS_BACKEND: z.enum(['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']).default('auto'),
});

export type TrainerConfig = z.infer<typeof trainerConfigSchema>;
export const TRAINER_CONFIG = Symbol('TRAINER_CONFIG');

@Global()
@Module({})
export class TrainerConfigModule {
  static forRoot(config: TrainerConfig): DynamicModule {
    return {
      module: TrainerConfigModule,
      providers: [{ provide: TRAINER_CONFIG, useValue: config }],
      exports: [TRAINER_CONFIG],
    };
  }
}
