/** Injection tokens of the registry's collaborators (ModelRegistryModule.forRoot binds them). */
export const OBJECT_STORE = Symbol('OBJECT_STORE');
export const TENANT_DATA_KEYS = Symbol('TENANT_DATA_KEYS');
export const MODEL_UPLOAD_OPTIONS = Symbol('MODEL_UPLOAD_OPTIONS');
