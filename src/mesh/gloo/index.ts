import { meshHome, type MeshRouting } from '../home.js';
import { glooAdapter } from './adapter.js';
import { glooFlow } from './flow.js';
import { readGlooRoutes } from './read.js';
import { glooWriter } from './write.js';

export const glooRouting: MeshRouting = {
  home: 'gloo',
  routeKinds: [
    {
      id: 'gloo-virtualservice',
      group: 'gateway.solo.io',
      kind: 'VirtualService',
      versions: ['v1'],
      read: readGlooRoutes,
      flow: glooFlow,
    },
    {
      id: 'gloo-routetable',
      group: 'gateway.solo.io',
      kind: 'RouteTable',
      versions: ['v1'],
      read: readGlooRoutes,
      flow: glooFlow,
    },
  ],
  writer: glooWriter,
};

export const glooHome = meshHome({ id: 'gloo', adapter: glooAdapter, routing: glooRouting });
