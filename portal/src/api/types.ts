// JSON shapes of the outpost REST API (spec §2, §6, §8.1) as the portal uses them.

export type StringMap = Record<string, string>;
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface Tenant {
  id: string;
  destinations_count: number;
  topics: string[];
  metadata?: StringMap;
  created_at: string;
  updated_at: string;
}

export interface Destination {
  id: string;
  tenant_id: string;
  type: string;
  topics: string[];
  filter?: JsonObject;
  config: StringMap;
  credentials: StringMap;
  delivery_metadata?: StringMap;
  metadata?: StringMap;
  created_at: string;
  updated_at: string;
  disabled_at: string | null;
  target: string;
  target_url?: string;
}

export type FieldType = "text" | "checkbox" | "key_value_map" | "select";

export interface Field {
  type: FieldType;
  label: string;
  description: string;
  key: string;
  required: boolean;
  default?: string;
  disabled?: boolean;
  sensitive?: boolean;
  min?: number;
  max?: number;
  step?: number;
  minlength?: number;
  maxlength?: number;
  pattern?: string;
  options?: { label: string; value: string }[];
}

export interface DestinationType {
  type: string;
  label: string;
  description: string;
  icon: string;
  config_fields: Field[];
  credential_fields: Field[];
  setup_link?: { href: string; cta: string };
  instructions: string;
}

export interface EventRecord {
  id: string;
  tenant_id: string;
  matched_destination_ids?: string[];
  topic: string;
  time: string;
  eligible_for_retry: boolean;
  metadata?: StringMap;
  data?: JsonObject;
}

export interface Attempt {
  id: string;
  tenant_id: string;
  status: "success" | "failed";
  time: string;
  code?: string;
  response_data?: Json;
  attempt_number: number;
  manual: boolean;
  destination_type: string;
  event_id: string;
  destination_id: string;
  event?: EventRecord;
}

export interface Page<T> {
  models: T[];
  pagination: {
    order_by: string;
    dir: string;
    limit: number;
    next: string | null;
    prev: string | null;
  };
}

export interface MetricsRow {
  time_bucket?: string;
  dimensions: Record<string, string | number | boolean>;
  metrics: Record<string, number>;
}

export interface MetricsResponse {
  data: MetricsRow[];
  metadata: { granularity?: string; row_count: number; truncated: boolean };
}
