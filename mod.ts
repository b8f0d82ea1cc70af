/**
 * The managed WebSocket client (work in progress: see raw.ts for the raw client).
 *
 * @module
 */

export * from "./raw.ts";
