ALTER TABLE "backups" ADD COLUMN "pinned" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "backups" ADD COLUMN "pinned_by" text;--> statement-breakpoint
ALTER TABLE "backups" ADD COLUMN "pinned_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "environments" ADD COLUMN "retention_keep_last" integer;--> statement-breakpoint
ALTER TABLE "environments" ADD COLUMN "retention_keep_hourly" integer;--> statement-breakpoint
ALTER TABLE "environments" ADD COLUMN "retention_keep_daily" integer;--> statement-breakpoint
ALTER TABLE "environments" ADD COLUMN "retention_keep_weekly" integer;--> statement-breakpoint
ALTER TABLE "environments" ADD COLUMN "retention_keep_monthly" integer;--> statement-breakpoint
ALTER TABLE "environments" ADD COLUMN "retention_keep_yearly" integer;