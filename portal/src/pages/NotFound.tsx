// Shown for unknown paths and for resources this tenant cannot see.

import { Link } from "../lib/router";

export function NotFound({ what = "page" }: { what?: string }) {
  return (
    <div className="not-found" data-testid="not-found">
      <h1>Not found</h1>
      <p>This {what} does not exist, or you do not have access to it.</p>
      <p>
        <Link to="/">Back to destinations</Link>
      </p>
    </div>
  );
}
