// Small visual markers: destination status, attempt status and destination type icons.

import type { DestinationType } from "../api/types";

export function EnabledBadge({ disabledAt }: { disabledAt: string | null }) {
  return disabledAt ? (
    <span className="badge badge-muted">Disabled</span>
  ) : (
    <span className="badge badge-ok">Active</span>
  );
}

export function AttemptBadge({ status }: { status: "success" | "failed" }) {
  return status === "success" ? (
    <span className="badge badge-ok">Success</span>
  ) : (
    <span className="badge badge-fail">Failed</span>
  );
}

/** The type's SVG icon, drawn as an image so markup in it can never run. */
export function TypeIcon({ type }: { type: DestinationType | undefined }) {
  if (!type?.icon) return <span className="type-icon type-icon-empty" aria-hidden="true" />;
  const src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(type.icon)}`;
  return <img className="type-icon" src={src} alt="" width={24} height={24} />;
}
