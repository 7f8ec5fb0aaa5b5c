import { meshHome, type MeshRouting } from '../home.js';
import { osmAdapter } from './adapter.js';
import { osmWriter } from './write.js';

/** OSM reads SMI TrafficSplits themselves (the mesh-neutral kind): it has no route kind of its own. */
export const osmRouting: MeshRouting = { home: 'osm', routeKinds: [], writer: osmWriter };

export const osmHome = meshHome({ id: 'osm', adapter: osmAdapter, routing: osmRouting });
