"""tokbridge engine.fleet: many stores on many machines, sharing one PostgreSQL.

Worker processes (`engine.fleet.worker`) take jobs from a procrastinate queue (`engine.fleet.queue`)
in two lanes, realtime and bulk; a job is the watch daemon's processing of one store's work
(`engine.fleet.work`), one writer per store fleet-wide, paced by rate limits shared through
PostgreSQL (`engine.fleet.limits`). One webhook receiver routes events to their store
(`engine.fleet.receiver`); `engine.fleet.stores` adds stores and shows the fleet's status.
Schedules and routes only: every decision is a pass's.
"""
