// One destination: header with status and enable/disable, and its three sections
// (overview metrics, delivery attempts, settings) as sub-pages.

import { useState } from "react";
import { ApiError } from "../api/client";
import { getDestination, setDestinationEnabled } from "../api/endpoints";
import type { Destination } from "../api/types";
import { typeLabel, useCatalog } from "../catalog";
import { useAnnounce } from "../components/Announcer";
import { EnabledBadge, TypeIcon } from "../components/Badges";
import { ErrorNotice, Loading } from "../components/Feedback";
import { Link } from "../lib/router";
import { useAsync } from "../lib/useAsync";
import { AttemptList } from "./AttemptList";
import { DestinationOverview } from "./DestinationOverview";
import { DestinationSettings } from "./DestinationSettings";
import { NotFound } from "./NotFound";

type Tab = "overview" | "attempts" | "settings";

const TABS: { tab: Tab; label: string; suffix: string }[] = [
  { tab: "overview", label: "Overview", suffix: "" },
  { tab: "attempts", label: "Attempts", suffix: "/attempts" },
  { tab: "settings", label: "Settings", suffix: "/settings" },
];

export function DestinationPage({ id, tab }: { id: string; tab: Tab }) {
  const { types } = useCatalog();
  const loaded = useAsync(() => getDestination(id), [id]);
  const [override, setOverride] = useState<Destination | null>(null);
  const [busy, setBusy] = useState(false);
  const announce = useAnnounce();

  const dest = override?.id === id ? override : loaded.data;
  if (loaded.error instanceof ApiError && [403, 404].includes(loaded.error.status))
    return <NotFound what="destination" />;
  if (loaded.error) return <ErrorNotice error={loaded.error} onRetry={loaded.reload} />;
  if (!dest) return <Loading what="destination" />;

  const base = `/destinations/${encodeURIComponent(dest.id)}`;
  const type = types.find((t) => t.type === dest.type);
  const enabled = dest.disabled_at === null;

  const toggle = async () => {
    setBusy(true);
    try {
      setOverride(await setDestinationEnabled(dest.id, !enabled));
      announce(enabled ? "Destination disabled." : "Destination enabled.");
    } catch (err) {
      announce(`Could not ${enabled ? "disable" : "enable"} the destination: ${(err as Error).message}`, "error");
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <p className="breadcrumb">
        <Link to="/">Destinations</Link> / {dest.target || dest.id}
      </p>
      <div className="page-head">
        <div>
          <h1 className="with-icon">
            <TypeIcon type={type} /> <span className="break">{dest.target || dest.id}</span>
          </h1>
          <p className="muted">
            {typeLabel(types, dest.type)} · <EnabledBadge disabledAt={dest.disabled_at} />
            {dest.target_url && (
              <>
                {" · "}
                <a href={dest.target_url} target="_blank" rel="noreferrer noopener">
                  Open in provider
                </a>
              </>
            )}
          </p>
        </div>
        <button type="button" className={`button ${enabled ? "" : "button-primary"}`} onClick={toggle} disabled={busy}>
          {enabled ? "Disable" : "Enable"}
        </button>
      </div>
      <nav className="tabs" aria-label="Destination sections">
        {TABS.map((t) => (
          <Link key={t.tab} to={base + t.suffix} aria-current={tab === t.tab ? "page" : undefined}>
            {t.label}
          </Link>
        ))}
      </nav>
      {tab === "overview" && <DestinationOverview destination={dest} />}
      {tab === "attempts" && <AttemptList destination={dest} />}
      {tab === "settings" && type && <DestinationSettings destination={dest} type={type} onSaved={setOverride} />}
      {tab === "settings" && !type && <p>This destination type is not available any more.</p>}
    </>
  );
}
