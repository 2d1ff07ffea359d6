/**
 * The PROXY protocol keys of a listener (TCP and HTTP) and of an HTTP route:
 * `acceptProxyProtocol` with its required `trustedProxies`, and
 * `sendProxyProtocol`. Spread into the listener schemas by `schema.ts`.
 *
 * @module
 */
import { z } from "zod";
import { parseCidr } from "../proxyproto/cidr.ts";

/** `"v1"` or `"v2"`: the header sent to upstreams. */
export const sendProxyProtocol = z.enum(["v1", "v2"]).optional();

const cidr = z.string().superRefine((text, ctx) => {
  try {
    parseCidr(text);
  } catch (err) {
    ctx.addIssue({ code: "custom", message: (err as Error).message });
  }
});

/** Keys a TCP or HTTP listener takes. */
export const proxyProtocolKeys = {
  /** Every connection must start with a PROXY header of this version ("any": v1 or v2). */
  acceptProxyProtocol: z.enum(["v1", "v2", "any"]).optional(),
  /** Sources allowed to send the header (required with acceptProxyProtocol). */
  trustedProxies: z.array(cidr).optional(),
  sendProxyProtocol,
};

/** `trustedProxies` goes with `acceptProxyProtocol`: one without the other is a mistake. */
export function checkProxyProtocol(l: { acceptProxyProtocol?: string; trustedProxies?: readonly string[] }, ctx: z.RefinementCtx): void {
  if (l.acceptProxyProtocol !== undefined && l.trustedProxies === undefined) {
    ctx.addIssue({
      code: "custom", path: ["trustedProxies"],
      message: `missing: "acceptProxyProtocol" needs the addresses allowed to send the header, as "trustedProxies": ["10.0.0.0/8"]`,
    });
  } else if (l.acceptProxyProtocol !== undefined && l.trustedProxies!.length === 0) {
    ctx.addIssue({ code: "custom", path: ["trustedProxies"], message: "needs at least one address or CIDR" });
  } else if (l.acceptProxyProtocol === undefined && l.trustedProxies !== undefined) {
    ctx.addIssue({ code: "custom", path: ["trustedProxies"], message: `only applies with "acceptProxyProtocol" ("v1", "v2" or "any")` });
  }
}

/** The PROXY protocol part of a listener's worker init (nothing for a listener without the keys). */
export function proxyProtocolInit(l: object): {
  acceptProxyProtocol?: "v1" | "v2" | "any";
  trustedProxies?: readonly string[];
  sendProxyProtocol?: "v1" | "v2";
} {
  const k = l as { acceptProxyProtocol?: "v1" | "v2" | "any"; trustedProxies?: string[]; sendProxyProtocol?: "v1" | "v2" };
  return { acceptProxyProtocol: k.acceptProxyProtocol, trustedProxies: k.trustedProxies, sendProxyProtocol: k.sendProxyProtocol };
}
