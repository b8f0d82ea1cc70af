/**
 * The 101 reply of a listener's upgrade: its fields, the `UpgradeResponse` its session sees,
 * and the extensions to dispose of when the reply is not sent.
 *
 * @module
 */

import { computeAccept } from "../core/handshake_key.ts";
import type { UpgradeCall, UpgradeResponse } from "../session/raw_session.ts";
import type { UpgradePlan } from "./upgrade.ts";

/** The 101 reply as a session sees it; its `Headers` are made on first use. */
class ListenerResponse implements UpgradeResponse {
  readonly status = 101;
  readonly statusText = "Switching Protocols";
  /** The fields sent, or the key of a reply with none but the handshake's own. */
  readonly #sent: [string, string][] | string;
  #headers: Headers | null = null;

  /**
   * @param sent The fields sent, or the key when the reply was `plainServerResponse(key)`.
   */
  constructor(sent: [string, string][] | string) {
    this.#sent = sent;
  }

  get headers(): Headers {
    if (this.#headers === null) {
      const sent = this.#sent;
      this.#headers = new Headers(typeof sent === "string" ? acceptFields(sent) : sent);
    }
    return this.#headers;
  }
}

/** The fields of a 101 reply with no subprotocol, extension or extra header. */
function acceptFields(key: string): [string, string][] {
  return [
    ["Upgrade", "websocket"],
    ["Connection", "Upgrade"],
    ["Sec-WebSocket-Accept", computeAccept(key)],
  ];
}

/**
 * @internal The fields of the 101 reply to an upgrade: `null` for most, which have the
 * handshake's own fields only (written by `plainServerResponse`); hooks and extensions add some.
 *
 * @param plan The upgrade.
 * @returns The fields, or `null`.
 */
export function replyFields(plan: UpgradePlan): [string, string][] | null {
  if (
    plan.protocol === "" && plan.extensionHeader === "" &&
    Array.isArray(plan.headers) && plan.headers.length === 0
  ) {
    return null;
  }
  const fields = acceptFields(plan.key);
  if (plan.protocol !== "") fields.push(["Sec-WebSocket-Protocol", plan.protocol]);
  if (plan.extensionHeader !== "") fields.push(["Sec-WebSocket-Extensions", plan.extensionHeader]);
  for (const field of plan.headers) fields.push(field);
  return fields;
}

/**
 * @internal Disposes the extensions negotiated for an upgrade that does not happen.
 *
 * @param plan The upgrade.
 */
export function disposeAgreements(plan: UpgradePlan): void {
  for (const a of plan.agreements) a.extension.dispose();
}

/**
 * @internal The request and the 101 of an upgrade, as its session sees them.
 *
 * @param plan The upgrade.
 * @param fields The fields sent ({@linkcode replyFields}).
 * @returns The call.
 */
export function upgradeCall(plan: UpgradePlan, fields: [string, string][] | null): UpgradeCall {
  return { request: plan.request, response: new ListenerResponse(fields ?? plan.key) };
}
