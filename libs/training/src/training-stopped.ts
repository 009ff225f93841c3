/** The caller's shouldStop said stop before the model was finished; nothing is exported. */
export class TrainingStoppedError extends Error {
  constructor() {
    super('training was stopped');
    this.name = 'TrainingStoppedError';
  }
}
