import { FsObjectStore } from './fs-object-store.js';
import type { ObjectStore } from './object-store.js';
import { S3ObjectStore, type S3ObjectStoreOptions } from './s3-object-store.js';

export type ObjectStoreConfig =
  { driver: 'fs'; root: string } | ({ driver: 's3' } & S3ObjectStoreOptions);

export function createObjectStore(config: ObjectStoreConfig): ObjectStore {
  switch (config.driver) {
    case 'fs':
      return new FsObjectStore(config.root);
    case 's3': {
      const { driver: _driver, ...options } = config;
      return new S3ObjectStore(options);
    }
  }
}
