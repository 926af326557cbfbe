import { dropDemoDatabases } from "./helpers/demo-databases";

/** The demo databases this run's servers made are dropped with them; the data folders are removed by each start. */
export default async function globalTeardown() {
  await dropDemoDatabases();
}
