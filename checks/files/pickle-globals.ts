import type { PickleGlobal } from './pickle-opcodes.ts';

/**
 * Which pickle imports run code on load. Sources:
 * - dangerous: picklescan's `_unsafe_globals` (github.com/mmaitre314/picklescan, src/picklescan/scanner.py): modules
 *   where any name is dangerous (`*`), or the named functions;
 * - safe: what `torch.save` writes for a state dict (picklescan's `_safe_globals`, and torch's weights-only
 *   unpickler allowlist, torch/_weights_only_unpickler.py `_get_allowed_globals`).
 * Anything else is neither: listed as evidence, not a verdict.
 */
const DANGEROUS: Record<string, '*' | readonly string[]> = {
  builtins: ['eval', 'exec', 'compile', 'getattr', 'apply', 'open', 'breakpoint', '__import__', 'input'],
  __builtin__: ['eval', 'exec', 'compile', 'getattr', 'apply', 'open', 'breakpoint', '__import__', 'input'],
  os: '*',
  posix: '*',
  nt: '*',
  subprocess: '*',
  commands: '*',
  runpy: '*',
  socket: '*',
  ssl: '*',
  shutil: '*',
  webbrowser: '*',
  pty: '*',
  sys: '*',
  ctypes: '*',
  asyncio: '*',
  aiohttp: '*',
  httplib: '*',
  'http.client': '*',
  'requests.api': '*',
  pdb: '*',
  bdb: '*',
  pickle: '*',
  _pickle: '*',
  pip: '*',
  pydoc: '*',
  timeit: '*',
  venv: '*',
  importlib: '*',
  code: '*',
  'numpy.f2py': '*',
  'numpy.testing._private.utils': '*',
  'distutils.file_util': '*',
  functools: ['partial'],
  operator: ['attrgetter', 'itemgetter', 'methodcaller'],
  cProfile: ['run', 'runctx'],
  profile: ['Profile.run', 'Profile.runctx'],
  doctest: ['debug_script'],
  'torch.serialization': ['load'],
  'torch._inductor.codecache': ['compile_file'],
  'torch.jit.unsupported_tensor_ops': ['execWrapper'],
};

const SAFE: Record<string, '*' | readonly string[]> = {
  collections: ['OrderedDict'],
  'torch._utils': ['_rebuild_tensor_v2', '_rebuild_parameter', '_rebuild_parameter_with_state', '_rebuild_qtensor'],
  'torch._tensor': ['_rebuild_from_type_v2'],
  torch: [
    'FloatStorage',
    'DoubleStorage',
    'HalfStorage',
    'BFloat16Storage',
    'LongStorage',
    'IntStorage',
    'ShortStorage',
    'CharStorage',
    'ByteStorage',
    'BoolStorage',
    'ComplexFloatStorage',
    'ComplexDoubleStorage',
    'QInt8Storage',
    'QUInt8Storage',
    'QInt32Storage',
    'QUInt4x2Storage',
    'QUInt2x4Storage',
    'Size',
    'float32',
    'float16',
    'bfloat16',
    'float64',
    'int64',
    'int32',
    'int8',
    'uint8',
    'bool',
  ],
  numpy: ['dtype', 'ndarray'],
  'numpy.core.multiarray': ['_reconstruct', 'scalar'],
  'numpy._core.multiarray': ['_reconstruct', 'scalar'],
};

export type PickleSafety = 'dangerous' | 'safe' | 'other';

function listed(table: Record<string, '*' | readonly string[]>, g: PickleGlobal): boolean {
  const names = table[g.module];
  if (names === '*' || (names && names.includes(g.name))) return true;
  // A submodule of a module dangerous as a whole is dangerous too (os.path, subprocess.x).
  const parts = g.module.split('.');
  for (let i = 1; i < parts.length; i++) if (table[parts.slice(0, i).join('.')] === '*') return true;
  return false;
}

/** How a pickle import is judged: `dangerous` (runs code), `safe` (what torch.save writes) or `other`. */
export function pickleSafety(g: PickleGlobal): PickleSafety {
  // An argument that is not a plain string (built on the stack) is how scanners get evaded: treated as dangerous.
  if (g.module === 'unknown' || g.name === 'unknown') return 'dangerous';
  if (listed(DANGEROUS, g)) return 'dangerous';
  if (listed(SAFE, g)) return 'safe';
  return 'other';
}
