/**
 * The layout of src/: every top-level folder and its floor. This table is the one statement of
 * the layout; the README's table describes the same folders. A file may import only from its own
 * folder or from a folder on a LOWER floor: folders on one floor never import each other (so
 * server and controller stay apart). A folder's subfolders share its floor (`src/mesh/<id>/`,
 * `src/traffic/smi/`, `src/controller/certificates/`). A folder not listed here fails the test.
 */
export const LAYOUT: readonly { readonly floor: number; readonly folders: readonly string[] }[] = [
  // Helpers; Kubernetes object shapes and every meshwarden.io key.
  { floor: 0, folders: ['util', 'k8s'] },
  // Metrics; certificate issuing and files.
  { floor: 1, folders: ['observability', 'pki'] },
  // The mesh-neutral traffic model; SMI in traffic/smi.
  { floor: 2, folders: ['traffic'] },
  // Mesh ids, adapter types, the registry, one home per mesh.
  { floor: 3, folders: ['mesh'] },
  // MeshPolicy (schema, load, merge, store, file watcher); TrafficSplit translation.
  { floor: 4, folders: ['policy', 'translation'] },
  // The admission engine: decode, rules' types, responses, draft, patch. No HTTP.
  { floor: 5, folders: ['admission'] },
  { floor: 6, folders: ['rules'] },
  // HTTPS and express; the in-cluster controller.
  { floor: 7, folders: ['server', 'controller'] },
  // The composition root: wires server, controller, policy and rules.
  { floor: 8, folders: ['app'] },
  { floor: 9, folders: ['cli'] },
];

/** Floor of each folder, from LAYOUT. */
export function floorsByFolder(layout: typeof LAYOUT = LAYOUT): ReadonlyMap<string, number> {
  const floors = new Map<string, number>();
  for (const { floor, folders } of layout)
    for (const folder of folders) {
      if (floors.has(folder)) throw new Error(`folder ${folder} is listed twice in LAYOUT`);
      floors.set(folder, floor);
    }
  return floors;
}
