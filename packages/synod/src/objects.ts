// Shared objects (regions of pages under page locks, typed objects): `import { map } from 'synod/objects'`.
export * from '@synod/objects';
