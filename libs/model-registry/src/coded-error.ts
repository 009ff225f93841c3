/**
 * The registry's error classes follow the platform's `code` convention (the apps map the code to
 * HTTP); each names itself after its class, so a subclass only declares its code and message.
 */
export abstract class CodedError extends Error {
  abstract readonly code: string;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}
