// Typed wrappers for the routes a tenant token may call (spec §1.5).

import { api, queryString, type Params } from "./client";
import type {
  Attempt,
  Destination,
  DestinationType,
  EventRecord,
  Json,
  JsonObject,
  MetricsResponse,
  Page,
  Tenant,
} from "./types";

const enc = encodeURIComponent;

let tenantId = "";

/** Fixes the tenant every tenant-scoped call below is made for. */
export function setTenant(id: string): void {
  tenantId = id;
}

const dest = (id = "") => `/tenants/${enc(tenantId)}/destinations${id ? `/${enc(id)}` : ""}`;

export const getTenant = (id: string) => api<Tenant>("GET", `/tenants/${enc(id)}`);

export const listDestinationTypes = () => api<DestinationType[]>("GET", "/destination-types");

export const listTopics = async () => (await api<string[] | null>("GET", "/topics")) ?? [];

export const listDestinations = () => api<Destination[]>("GET", dest());

export const getDestination = (id: string) => api<Destination>("GET", dest(id));

export interface DestinationInput {
  type?: string;
  topics?: string[];
  filter?: JsonObject | null;
  config?: Record<string, string | null>;
  credentials?: Record<string, string | boolean | null>;
}

export const createDestination = (input: DestinationInput) =>
  api<Destination>("POST", dest(), input as Json);

export const updateDestination = (id: string, patch: DestinationInput) =>
  api<Destination>("PATCH", dest(id), patch as Json);

export const deleteDestination = (id: string) => api<{ success: boolean }>("DELETE", dest(id));

export const setDestinationEnabled = (id: string, enabled: boolean) =>
  api<Destination>("PUT", `${dest(id)}/${enabled ? "enable" : "disable"}`);

export interface LogFilters extends Params {
  limit?: number;
  next?: string;
  prev?: string;
  topic?: string[];
  status?: string;
  "time[gte]"?: string;
}

export const listEvents = (filters: LogFilters & { destination_id?: string[] }) =>
  api<Page<EventRecord>>("GET", `/events${queryString(filters)}`);

export const getEvent = (id: string) => api<EventRecord>("GET", `/events/${enc(id)}`);

export const listDestinationAttempts = (destinationId: string, filters: LogFilters) =>
  api<Page<Attempt>>(
    "GET",
    `${dest(destinationId)}/attempts${queryString({ ...filters, include: ["event"] })}`,
  );

/** Every attempt for one event (up to 100), optionally only those to one destination. */
export const listEventAttempts = (eventId: string, destinationId?: string) =>
  api<Page<Attempt>>(
    "GET",
    `/attempts${queryString({
      event_id: [eventId],
      destination_id: destinationId ? [destinationId] : undefined,
      limit: 100,
    })}`,
  );

export const getAttempt = (destinationId: string, attemptId: string) =>
  api<Attempt>(
    "GET",
    `${dest(destinationId)}/attempts/${enc(attemptId)}${queryString({
      include: ["event.data", "response_data"],
    })}`,
  );

export const retryDelivery = (eventId: string, destinationId: string) =>
  api<{ success: boolean }>("POST", "/retry", { event_id: eventId, destination_id: destinationId });

export interface MetricsQuery {
  start: Date;
  end: Date;
  granularity?: string;
  measures: string[];
  dimensions?: string[];
  filters?: Record<string, string[]>;
}

export function attemptMetrics(q: MetricsQuery): Promise<MetricsResponse> {
  return api<MetricsResponse>("GET", `/metrics/attempts${metricsQuery(q)}`);
}

export function eventMetrics(q: MetricsQuery): Promise<MetricsResponse> {
  return api<MetricsResponse>("GET", `/metrics/events${metricsQuery(q)}`);
}

function metricsQuery(q: MetricsQuery): string {
  const params: Params = {
    "time[start]": q.start.toISOString(),
    "time[end]": q.end.toISOString(),
    granularity: q.granularity,
    measures: q.measures,
    dimensions: q.dimensions,
  };
  for (const [dim, values] of Object.entries(q.filters ?? {})) params[`filters[${dim}]`] = values;
  return queryString(params);
}
