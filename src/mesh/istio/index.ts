import { meshHome, type MeshRouting } from '../home.js';
import { istioAdapter } from './adapter.js';
import { istioFlow } from './flow.js';
import { readIstioVirtualService } from './read.js';
import { istioWriter } from './write.js';

export const istioRouting: MeshRouting = {
  home: 'istio',
  routeKinds: [
    {
      id: 'istio-virtualservice',
      group: 'networking.istio.io',
      kind: 'VirtualService',
      versions: ['v1', 'v1beta1', 'v1alpha3'],
      read: readIstioVirtualService,
      flow: istioFlow,
    },
  ],
  writer: istioWriter,
};

export const istioHome = meshHome({ id: 'istio', adapter: istioAdapter, routing: istioRouting });
