/**
 * The WebSocket server (work in progress).
 *
 * @module
 */

export { buildRejectResponse, buildServerResponse, validateClientRequest } from "./raw.ts";
