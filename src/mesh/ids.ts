// The ids derive from the registry: adding a mesh never touches this file.
export { isMeshId, MESH_IDS, type MeshId } from './registry.js';
