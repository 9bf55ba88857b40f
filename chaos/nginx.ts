// nginx as a child process of our own: a generated configuration in a scratch directory that
// holds everything nginx writes (pid, logs, temp files), listening on loopback only.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { freePort } from './ports.js'
import { OwnedProcess } from './processes.js'

const CANDIDATES = ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/bin/nginx']
const START_TIMEOUT_MS = 10_000

/** The nginx binary, or null when none is installed. */
export function findNginx(): string | null {
  const known = CANDIDATES.find((path) => existsSync(path))
  if (known) return known
  try {
    return execFileSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' }).trim() || null
  } catch {
    return null
  }
}

export class Nginx {
  private constructor(
    private readonly server: OwnedProcess,
    readonly port: number,
    readonly dir: string,
  ) {}

  /** Round-robin over the upstream ports; a failed upstream is retried after 2 s. */
  static async start(dir: string, upstreamPorts: number[]): Promise<Nginx> {
    const binary = findNginx()
    if (!binary) throw new Error('nginx is not installed; apt-get install nginx-light')
    mkdirSync(dir, { recursive: true })
    const port = await freePort()
    const conf = join(dir, 'nginx.conf')
    writeFileSync(conf, configuration(dir, port, upstreamPorts))

    const server = OwnedProcess.spawn(
      'nginx',
      binary,
      ['-p', dir, '-c', conf, '-e', join(dir, 'error.log'), '-g', 'daemon off;'],
      { logFile: join(dir, 'nginx.out') },
    )
    const nginx = new Nginx(server, port, dir)
    await nginx.waitUntilListening()

    return nginx
  }

  get accessLog(): string {
    return join(this.dir, 'access.log')
  }

  async stop(): Promise<void> {
    // SIGQUIT: a graceful stop, letting requests in flight finish.
    await this.server.stop('SIGQUIT', 5000)
  }

  private async waitUntilListening(): Promise<void> {
    const deadline = Date.now() + START_TIMEOUT_MS
    while (Date.now() < deadline) {
      if (!this.server.running) {
        throw new Error(`nginx exited at start; see ${join(this.dir, 'error.log')}`)
      }
      try {
        const response = await fetch(`http://127.0.0.1:${this.port}/nginx-alive`, {
          signal: AbortSignal.timeout(1000),
        })
        if (response.status === 204) return
      } catch {
        // Not listening yet.
      }
      await sleep(50)
    }
    throw new Error(`nginx did not listen on ${this.port} within ${START_TIMEOUT_MS} ms`)
  }
}

function configuration(dir: string, port: number, upstreamPorts: number[]): string {
  const servers = upstreamPorts
    .map((upstream) => `    server 127.0.0.1:${upstream} max_fails=1 fail_timeout=2s;`)
    .join('\n')
  // Workers run as the master's user; as root nginx would switch them to nobody, who cannot
  // write to our scratch directory.
  const user = process.getuid?.() === 0 ? 'user root;' : ''

  return `${user}
worker_processes 1;
pid ${dir}/nginx.pid;
events { worker_connections 4096; }
http {
  log_format upstream '$msec $status $request_method $request_uri $upstream_addr '
                      '$upstream_status $request_time';
  access_log ${dir}/access.log upstream;
  client_body_temp_path ${dir}/client_body_temp;
  proxy_temp_path ${dir}/proxy_temp;
  fastcgi_temp_path ${dir}/fastcgi_temp;
  uwsgi_temp_path ${dir}/uwsgi_temp;
  scgi_temp_path ${dir}/scgi_temp;
  keepalive_requests 100000;

  upstream qc_assign {
${servers}
  }

  server {
    listen 127.0.0.1:${port};
    location = /nginx-alive { return 204; }
    location / {
      proxy_pass http://qc_assign;
      proxy_set_header Host $host;
      # A refused connection is tried on the next instance; a request already sent is not
      # (nginx never repeats a POST), so its client sees the 502 and knows the fate is unknown.
      proxy_next_upstream error timeout;
      proxy_connect_timeout 2s;
      proxy_read_timeout 30s;
      add_header X-Upstream $upstream_addr always;
    }
  }
}
`
}
