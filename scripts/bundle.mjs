// The hadhcp command as one file: packages/cli/dist/hadhcp.mjs, made from the compiled packages (after `tsc -b`;
// `pnpm build` runs both). Node 20 loads the ~130 modules of packages/*/dist one by one, resolving each import
// through package.json files and symlinks: ~150 ms of every start on the project VM, the daemon's and each CLI
// command's (`hadhcp status`). One file loads in a third of that. bin/hadhcp runs it when no package was compiled
// after it, and packages/cli/dist/main.js otherwise (the same code, loaded module by module).
//
// What is not bundled: packages with a native addon (a binding.gyp at their root: @hadhcp/native, raw-socket,
// netlink, better-sqlite3). Each is imported from where it lies in node_modules, by a path relative to the bundle.
// Our own modules load those with createRequire(import.meta.url); in the bundle, import.meta.url is rewritten to
// the module's own compiled file, so each still resolves its dependencies from its own package, as before.
import { build } from 'esbuild';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const entry = join(root, 'packages/cli/dist/main.js');
const outfile = join(root, 'packages/cli/dist/hadhcp.mjs');
const outDir = dirname(outfile);

if (!existsSync(entry)) {
  console.error(`bundle: ${relative(root, entry)} is missing: run tsc -b first (pnpm build does both)`);
  process.exit(1);
}

/** A path as an import specifier relative to the bundle (always starting with ./ or ../, / separated). */
function fromBundle(path) {
  const r = relative(outDir, path).split(sep).join('/');
  return r.startsWith('.') ? r : `./${r}`;
}

/** The root directory of the package that `file` belongs to: the nearest package.json up from it with a name (a
 * package may hold others without one, such as dist/package.json saying only its module type). */
function packageRoot(file) {
  for (let d = dirname(file); ; d = dirname(d)) {
    const manifest = join(d, 'package.json');
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).name) return d;
    if (dirname(d) === d) return undefined;
  }
}

const ownDist = join(root, 'packages') + sep;

try {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
    // CommonJS packages in the bundle (pino, commander) call require() for Node's own modules.
    banner: {
      js: "import { createRequire as __hadhcpRequire } from 'node:module'; const require = __hadhcpRequire(import.meta.url);",
    },
    plugins: [
      {
        name: 'hadhcp',
        setup(b) {
          // A package with a native addon stays a file of its own: its loader finds the .node file next to itself.
          b.onResolve({ filter: /^[^./]/ }, (args) => {
            if (isBuiltin(args.path) || !args.importer) return undefined;
            let resolved;
            try {
              resolved = createRequire(args.importer).resolve(args.path);
            } catch {
              return undefined; // esbuild reports it
            }
            const pkg = packageRoot(resolved);
            if (!pkg || !existsSync(join(pkg, 'binding.gyp'))) return undefined;
            return { path: fromBundle(resolved), external: true };
          });
          // Our compiled modules: import.meta.url stays each module's own file (see the top of this file).
          b.onLoad({ filter: /\.js$/ }, (args) => {
            if (!args.path.startsWith(ownDist)) return undefined;
            let contents = readFileSync(args.path, 'utf8');
            if (contents.includes('import.meta.url'))
              contents = contents.replaceAll(
                'import.meta.url',
                `new URL(${JSON.stringify(fromBundle(args.path))}, import.meta.url).href`,
              );
            return { contents, loader: 'js', resolveDir: dirname(args.path) };
          });
        },
      },
    ],
  });
} catch (err) {
  console.error(`bundle: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
