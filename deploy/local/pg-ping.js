// Exit 0 when the Postgres server of the URL given as argument accepts a connection.
const { Client } = require('pg');

const client = new Client({ connectionString: process.argv[2], connectionTimeoutMillis: 3000 });
client
  .connect()
  .then(() => client.query('select 1'))
  .then(() => client.end())
  .then(() => process.exit(0))
  .catch((error) => {
    console.error(`postgres: ${error.message}`);
    process.exit(1);
  });
