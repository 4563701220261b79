import { execFileSync } from "node:child_process";
import { join } from "node:path";

/** PEM files made by `makeCertificates`: a CA, a broker certificate it signed, and an unrelated CA. */
export interface Certificates {
  /** The CA that signed the broker's certificate. */
  ca: string;
  /** The broker's certificate (for the name localhost only, not the address 127.0.0.1) and key. */
  serverCert: string;
  serverKey: string;
  /** A CA that signed nothing the broker has: trusting only it, a client must refuse the broker. */
  otherCa: string;
}

/** Make a throwaway CA and broker certificate in `dir` with openssl (a few hundred ms). */
export function makeCertificates(dir: string): Certificates {
  const file = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
  for (const name of ["ca", "other-ca"]) {
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", `/CN=mqtt-contracts test ${name}`, "-keyout", file(`${name}.key`), "-out", file(`${name}.pem`));
  }
  openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", file("server.key"), "-out", file("server.csr"));
  const extensions = file("server.ext");
  execFileSync("sh", ["-c", `printf 'subjectAltName=DNS:localhost\\n' > '${extensions}'`]);
  openssl("x509", "-req", "-in", file("server.csr"), "-CA", file("ca.pem"), "-CAkey", file("ca.key"), "-CAcreateserial", "-days", "2", "-extfile", extensions, "-out", file("server.pem"));
  return { ca: file("ca.pem"), serverCert: file("server.pem"), serverKey: file("server.key"), otherCa: file("other-ca.pem") };
}

/** A Mosquitto password file with `users` (name → password), made with mosquitto_passwd. */
export function makePasswordFile(path: string, users: Record<string, string>): string {
  let first = true;
  for (const [user, password] of Object.entries(users)) {
    execFileSync("mosquitto_passwd", [...(first ? ["-c"] : []), "-b", path, user, password], { stdio: ["ignore", "ignore", "pipe"] });
    first = false;
  }
  return path;
}
