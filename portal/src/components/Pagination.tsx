// Cursor pagination (spec §1.4): `next` / `prev` cursors kept in the URL so Back works.

import { Link, useRouter, withQuery } from "../lib/router";

interface Props {
  next: string | null;
  prev: string | null;
  label: string;
}

export function Pagination({ next, prev, label }: Props) {
  const { path, query } = useRouter();
  const base: Record<string, string> = {};
  query.forEach((v, k) => {
    if (k !== "next" && k !== "prev") base[k] = v;
  });
  if (!next && !prev) return null;
  return (
    <nav className="pagination" aria-label={`${label} pages`}>
      {prev ? (
        <Link className="button" to={withQuery(path, { ...base, prev })}>
          ← Newer
        </Link>
      ) : (
        <span />
      )}
      {next && (
        <Link className="button" to={withQuery(path, { ...base, next })}>
          Older →
        </Link>
      )}
    </nav>
  );
}
