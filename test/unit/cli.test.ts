import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { runCli } from '../../src/cli/index.ts';

async function run(argv: string[]): Promise<{ code: number; output: string; errors: string }> {
  const output: string[] = [];
  const errors: string[] = [];
  const code = await runCli(argv, (line) => output.push(line), (line) => errors.push(line));
  return { code, output: output.join('\n'), errors: errors.join('\n') };
}

describe('tributary CLI usage errors', () => {
  it('prints help with exit code 0', async () => {
    const result = await run(['--help']);
    assert.equal(result.code, 0);
    assert.match(result.output, /parked release --topic T --key K/);
  });

  it('names the subcommands of parked', async () => {
    const result = await run(['parked']);
    assert.equal(result.code, 2);
    assert.match(result.errors, /Use `parked list` or `parked release`/);
  });

  it('rejects an option without its value', async () => {
    const result = await run(['backlog', '--mariadb-url']);
    assert.equal(result.code, 2);
    assert.match(result.errors, /--mariadb-url/);
  });

  it('asks for the database URL', async () => {
    const saved = process.env.TRIBUTARY_MARIADB_URL;
    delete process.env.TRIBUTARY_MARIADB_URL;
    try {
      const result = await run(['backlog']);
      assert.equal(result.code, 2);
      assert.match(result.errors, /Missing --mariadb-url/);
    } finally {
      if (saved !== undefined) process.env.TRIBUTARY_MARIADB_URL = saved;
    }
  });

  it('requires topic and key to release', async () => {
    const result = await run(['parked', 'release', '--topic', 't', '--mariadb-url', 'mariadb://u:p@127.0.0.1:1/x']);
    assert.equal(result.code, 2);
    assert.match(result.errors, /needs --topic and --key/);
  });

  it('reports a database it cannot reach', async () => {
    const result = await run(['backlog', '--mariadb-url', 'mariadb://u:p@127.0.0.1:1/x']);
    assert.equal(result.code, 1);
    assert.match(result.errors, /Cannot connect to MariaDB/);
  });
});
