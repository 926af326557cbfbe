import { Command, CommanderError, Option } from "commander";

import type { CliIo } from "./commands";
import { createBackup, download, listBackups, login, restoreBackup, upload } from "./commands";
import { decrypt } from "./decrypt";
import { DEFAULT_CONCURRENCY, MAX_CONCURRENCY } from "./download";
import { AbortedError, NetworkError } from "./http";
import { CliError, EXIT, EXIT_CODE_HELP } from "./errors";
import { parseSize } from "./format";

export const VERSION = "0.1.0";
/** Ctrl-C, as shells report it (128 + SIGINT). */
export const EXIT_INTERRUPTED = 130;

const ENV_HELP = `Environment:
  LIFEBOAT_URL         server URL (wins over the stored config; --url wins over it)
  LIFEBOAT_TOKEN       API token (wins over the stored config)
  LIFEBOAT_CONFIG_DIR  where config.json is kept (default $XDG_CONFIG_HOME/lifeboat or ~/.config/lifeboat)
  LIFEBOAT_AES_KEY     the key for \`backup decrypt\` (instead of --aes-key)
  CI                   any value: plain progress lines instead of bars`;

function withConnection(command: Command): Command {
  return command.option("--url <url>", "Lifeboat server URL (default: LIFEBOAT_URL, then the one `lifeboat login` stored)");
}

function withProgress(command: Command): Command {
  return command.option("--no-progress", "no progress bars or lines (messages and errors still go to stderr)");
}

function concurrencyOption(): Option {
  return new Option("--concurrency <n>", `parallel requests, 1 to ${MAX_CONCURRENCY.toLocaleString("en")} (default ${DEFAULT_CONCURRENCY})`);
}

/** A fresh program per call: commander keeps parsed state on it, and tests call main() many times. */
function buildProgram(io: CliIo): Command {
  const program = new Command("lifeboat")
    .description("Lifeboat from the command line: list, download, upload, create and restore backups.")
    .version(VERSION, "-V, --version")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride()
    .configureOutput({
      writeOut: (text) => void io.stdout.write(text),
      writeErr: (text) => void io.stderr.write(text),
      outputError: (text, write) => write(`lifeboat: ${text.replace(/^error: /, "")}`),
    })
    .addHelpText("after", `\n${EXIT_CODE_HELP}\n\n${ENV_HELP}\n\nDocumentation: docs/cli.md`);

  withConnection(
    program
      .command("login")
      .description("store the server URL and an API token after checking them (token: --token, LIFEBOAT_TOKEN, stdin, or a hidden prompt)")
      .option("--token <token>", "the API token (lbt_…); prefer stdin or the prompt, which keep it out of shell history"),
  ).action((flags) => login(io, flags));

  const backup = program.command("backup").description("backups of an environment");
  backup.configureOutput(program.configureOutput()).exitOverride();

  withConnection(
    backup
      .command("list")
      .description("an environment's backups, newest first")
      .requiredOption("-p, --project <project>", "project, e.g. acme")
      .requiredOption("-e, --environment <environment>", "environment, e.g. prd")
      .option("--status <status>", "only queued, running, completed or failed backups")
      .option("--limit <n>", "at most this many (1 to 100, default 25)")
      .option("--json", "print the backups as JSON"),
  ).action((flags) => listBackups(io, flags));

  withProgress(
    withConnection(
      backup
        .command("download")
        .description("download a backup's files in parallel byte ranges into database.gz and volume.tgz; resumes, verifies SHA-256")
        .requiredOption("--backupId <id>", "the backup, e.g. acme-lqgqnewltbexuewymq-201910031723")
        .option("--database", "the database file (database.gz)")
        .option("--doclib", "the document library file (volume.tgz); with neither flag, both files")
        .addOption(concurrencyOption())
        .option("-o, --output <dir>", "folder to write into (default: the current folder)")
        .addOption(
          new Option("--chunk-size <size>", "bytes per ranged request (e.g. 8MiB)").hideHelp().argParser((value) => {
            const size = parseSize(value);
            if (size === null) throw new CliError(`--chunk-size takes a size like 8MiB, not "${value}".`, EXIT.usage);
            return size;
          }),
        )
        .option("--json", "print what was downloaded as JSON"),
    ),
  ).action((flags) => download(io, flags));

  withProgress(
    withConnection(
      backup
        .command("upload")
        .description("tar and gzip a document library folder, upload it with a database dump in resumable parts, and wait for the backup")
        .requiredOption("-p, --project <project>", "project, e.g. acme")
        .requiredOption("-e, --environment <environment>", "environment, e.g. uat")
        .option("--doclib <folder>", "the document_library folder (archived as document_library/)")
        .option("--database <file.gz>", "a gzip'd SQL dump (pg_dump or mysqldump --databases --add-drop-database)")
        .addOption(concurrencyOption())
        .option("--json", "print the result as JSON"),
    ),
  ).action((flags) => upload(io, flags));

  withProgress(
    withConnection(
      backup
        .command("create")
        .description("make a backup now (prints its ID); --wait follows it until it ends")
        .requiredOption("-p, --project <project>", "project, e.g. acme")
        .requiredOption("-e, --environment <environment>", "environment, e.g. prd")
        .option("--name <name>", "a name for the backup")
        .option("--description <text>", "a description")
        .option("--wait", "wait until the backup is completed (exit 7 if it fails)")
        .option("--json", "print the backup as JSON"),
    ),
  ).action((flags) => createBackup(io, flags));

  withProgress(
    withConnection(
      backup
        .command("restore")
        .description("restore a backup into an environment (prints the restore's ID); --wait follows it until it ends")
        .requiredOption("--backupId <id>", "the backup to restore")
        .option("-e, --environment <environment>", "target environment in the backup's project (default: the backup's own)")
        .option("--confirm <name>", "the target environment's name, required for production")
        .option("--wait", "wait until the restore is completed (exit 7 if it fails)")
        .option("--json", "print the restore as JSON"),
    ),
  ).action((flags) => restoreBackup(io, flags));

  backup
    .command("decrypt")
    .description("decrypt what the backup-key endpoint sent with aes_key (LBAES1, docs/backup-key.md) back into its tar")
    .requiredOption("-i, --input <file>", "the encrypted download, e.g. backup.tar.crypt")
    .option("-o, --output <file>", "where the tar goes (default: the input without .crypt)")
    .option("--aes-key <hex>", "the 64-hex-character key (default: LIFEBOAT_AES_KEY, which keeps it out of shell history)")
    .action((flags) => decrypt(io, flags));

  return program;
}

/** One line on stderr and the exit code: what scripts rely on. */
function report(io: CliIo, error: unknown): number {
  if (error instanceof CommanderError) {
    // Commander has printed its own message (or the help/version) already.
    if (error.code === "commander.helpDisplayed" || error.code === "commander.version" || error.code === "commander.help") return EXIT.ok;
    if (error.code === "commander.executeSubCommandAsync") return EXIT.unexpected;
    return EXIT.usage;
  }
  if (error instanceof AbortedError || (io.signal?.aborted && !(error instanceof CliError && !(error instanceof NetworkError)))) {
    io.stderr.write(`lifeboat: ${error instanceof AbortedError ? error.message : "Interrupted."}\n`);
    return EXIT_INTERRUPTED;
  }
  if (error instanceof CliError) {
    io.stderr.write(`lifeboat: ${error.message}\n`);
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  io.stderr.write(`lifeboat: unexpected error: ${message}\n`);
  if (io.env.LIFEBOAT_DEBUG && error instanceof Error && error.stack) io.stderr.write(`${error.stack}\n`);
  return EXIT.unexpected;
}

/** Runs the CLI on `argv` (without node and the script) and returns the exit code; never calls process.exit. */
export async function main(argv: string[], io?: Partial<CliIo>): Promise<number> {
  const full: CliIo = {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    cwd: process.cwd(),
    ...io,
  };
  const program = buildProgram(full);
  if (argv.length === 0) {
    program.outputHelp({ error: true });
    return EXIT.usage;
  }
  try {
    await program.parseAsync(argv, { from: "user" });
    return EXIT.ok;
  } catch (error) {
    return report(full, error);
  }
}
