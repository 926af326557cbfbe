CREATE TABLE "rate_limit_windows" (
	"key" text NOT NULL,
	"window_start" timestamp (3) with time zone NOT NULL,
	"count" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "rate_limit_windows_key_window_start_pk" PRIMARY KEY("key","window_start")
);
--> statement-breakpoint
CREATE TABLE "restores" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"backup_id" text,
	"environment_id" uuid NOT NULL,
	"status" "restore_status" DEFAULT 'queued' NOT NULL,
	"status_reason" text,
	"stage" text,
	"progress_bytes" bigint DEFAULT 0 NOT NULL,
	"total_bytes" bigint,
	"created_by" text NOT NULL,
	"created_by_type" text DEFAULT 'user' NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"completed_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "backups" ADD COLUMN "created_by_type" text DEFAULT 'user' NOT NULL;--> statement-breakpoint
ALTER TABLE "environments" ADD COLUMN "schedule_last_slot" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "restores" ADD CONSTRAINT "restores_backup_id_backups_id_fk" FOREIGN KEY ("backup_id") REFERENCES "public"."backups"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "restores" ADD CONSTRAINT "restores_environment_id_environments_id_fk" FOREIGN KEY ("environment_id") REFERENCES "public"."environments"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "rate_limit_windows_start_idx" ON "rate_limit_windows" USING btree ("window_start");--> statement-breakpoint
CREATE INDEX "restores_environment_created_idx" ON "restores" USING btree ("environment_id","created_at");--> statement-breakpoint
CREATE INDEX "restores_backup_idx" ON "restores" USING btree ("backup_id");