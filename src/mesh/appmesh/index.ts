import { meshHome, type MeshRouting } from '../home.js';
import { appmeshAdapter } from './adapter.js';
import { appMeshFlow } from './flow.js';
import { readAppMeshVirtualRouter } from './read.js';
import { appMeshWriter } from './write.js';

const GROUP = 'appmesh.k8s.aws';

export const appmeshRouting: MeshRouting = {
  home: 'appmesh',
  routeKinds: [
    {
      id: 'appmesh-virtualrouter',
      group: GROUP,
      kind: 'VirtualRouter',
      versions: ['v1beta2'],
      read: readAppMeshVirtualRouter,
      flow: appMeshFlow,
    },
  ],
  writer: appMeshWriter,
  explainUnread: (what, group, kind) =>
    group === GROUP && kind === 'VirtualService'
      ? `${what} carries no weights meshwarden reads: App Mesh weights live in ${GROUP}/v1beta2 VirtualRouter routes`
      : undefined,
};

export const appmeshHome = meshHome({
  id: 'appmesh',
  adapter: appmeshAdapter,
  routing: appmeshRouting,
});
