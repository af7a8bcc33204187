// The /api shapes the panel reads, under the names the UI uses. Every shape
// comes from `api.gen.ts`, generated from the core's OpenAPI document (the
// Rust types are the source of truth): `npm run gen:api` after changing
// them; CI fails when the committed copies drift. Never write a shape here.

import type { components } from "./api.gen.js";

type Schemas = components["schemas"];

/** Why a seller is out of rotation, and until when. */
export type Cooldown = Schemas["Cooldown"];
/** The latest background probe. */
export type Probe = Schemas["Probe"];
/** A seller's live statistics. */
export type Stats = Schemas["Stats"];
/** A seller's credits. */
export type Credits = Schemas["CreditView"];
/** List prices per million tokens. */
export type Prices = Schemas["Prices"];
/** One seller as GET /api/sellers shows it. */
export type Seller = Schemas["SellerView"];
/** GET /api/sellers. */
export type SellersResponse = Schemas["SellersView"];
/** The body of POST /api/sellers and PUT /api/sellers/{id}. */
export type SellerBody = Schemas["SellerBody"];

/** Routing modes and scorers. */
export type Mode = Schemas["RoutingMode"];
export type Scorer = Schemas["Scorer"];
/** GET/PUT /api/routing. */
export type RoutingSettings = Schemas["RoutingSettings"];
/** One candidate of a route plan. */
export type Ranked = Schemas["Ranked"];
/** GET /api/route-plan. */
export type Plan = Schemas["Plan"];

/** One attempt of a request. */
export type Attempt = Schemas["Attempt"];
/** One request-log row (GET /api/requests/{id}). */
export type RequestRow = Schemas["RequestRow"];
/** GET /api/requests. */
export type RequestPage = Schemas["RequestPage"];
/** One row of GET /api/usage. */
export type UsageRow = Schemas["UsageRow"];
/** One point of GET /api/history. */
export type HistoryPoint = Schemas["HistoryPoint"];
/** GET /api/store. */
export type StoreStatus = Schemas["StoreStatus"];
/** A notice: something that happened, in plain words. */
export type Notice = Schemas["Notice"];

/** One agent, as GET /api/agents reports it. */
export type Agent = Schemas["AgentReport"];
/** What configure/restore did (or would do, with dryRun). */
export type AgentChange = Schemas["Done"];
/** One installed terminal (GET /api/terminals). */
export type Terminal = Schemas["TerminalReport"];
/** A doctor check. */
export type Check = Schemas["Check"];
/** The proxy switch. */
export type ProxyState = Schemas["ProxyState"];

/** The bodies of /api/events. */
export type SnapshotEvent = Schemas["SnapshotEvent"];
export type AgentsEvent = Schemas["AgentsEvent"];
export type DriftEntry = Schemas["DriftEntry"];
/** GET/PUT /api/desktop: the desktop app's switches (`present: false` in headless serve). */
export type DesktopSettings = Schemas["DesktopView"];
