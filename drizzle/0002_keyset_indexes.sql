DROP INDEX "audit_events_environment_idx";--> statement-breakpoint
DROP INDEX "backups_environment_created_idx";--> statement-breakpoint
CREATE INDEX "audit_events_environment_idx" ON "audit_events" USING btree ("environment_id","at","id");--> statement-breakpoint
CREATE INDEX "backups_environment_created_idx" ON "backups" USING btree ("environment_id","created_at","id");