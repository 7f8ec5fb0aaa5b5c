import { gatewayApiRouting } from '../gateway-api/index.js';
import { meshHome } from '../home.js';
import { linkerdAdapter } from './adapter.js';

/** Linkerd routes with Gateway API HTTPRoutes; it owns only its marker and detection. */
export const linkerdHome = meshHome({
  id: 'linkerd',
  adapter: linkerdAdapter,
  routing: gatewayApiRouting,
});
