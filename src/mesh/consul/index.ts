import { meshHome, type MeshRouting } from '../home.js';
import { consulAdapter } from './adapter.js';
import { consulFlow } from './flow.js';
import { readConsulServiceSplitter } from './read.js';
import { consulWriter } from './write.js';

export const consulRouting: MeshRouting = {
  home: 'consul',
  routeKinds: [
    {
      id: 'consul-servicesplitter',
      group: 'consul.hashicorp.com',
      kind: 'ServiceSplitter',
      versions: ['v1alpha1'],
      read: readConsulServiceSplitter,
      flow: consulFlow,
    },
  ],
  writer: consulWriter,
};

export const consulHome = meshHome({
  id: 'consul',
  adapter: consulAdapter,
  routing: consulRouting,
});
