/**
 * Runs the suite on the backend `LW_BACKEND` names (`memory`, the default,
 * or `memory-copy`; `redis` with issue 13): every env a test creates without
 * a `backend` gets one from that factory. The conformance suite picks its
 * backends itself (all available ones when `LW_BACKEND` is unset).
 */
import { setDefaultBackend } from "../../src/backend/defaultBackend.js";
import { suiteBackend } from "../helpers/backends.js";

const factory = suiteBackend();
setDefaultBackend(() => factory.create());
