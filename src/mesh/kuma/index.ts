import { gatewayApiRouting } from '../gateway-api/index.js';
import { meshHome } from '../home.js';
import { kumaAdapter } from './adapter.js';

/** Kuma routes with Gateway API HTTPRoutes; it owns only its marker and detection. */
export const kumaHome = meshHome({ id: 'kuma', adapter: kumaAdapter, routing: gatewayApiRouting });
