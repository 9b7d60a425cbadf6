import * as $rt from "ppp2p/runtime";
// Destructuring: a default with a site, a rest element; parameter defaults, patterns and rest.
import { checkpoint } from 'ppp2p/thread';
class fallback$Frame extends $rt.Frame {
    static id = "destructuring.ts#fallback";
    static layout = "ed33f85c78467884";
    static fields = [];
    static sites = [0, 5];
    static file = "destructuring.ts";
    static fn;
}
fallback$Frame.fn = fallback;
$rt.registerFrame(fallback$Frame);
class unpack$Frame extends $rt.Frame {
    static id = "destructuring.ts#unpack";
    static layout = "59f2f7019d761332";
    static fields = ["config", "host", "port", "rest", "$v1"];
    static sites = [0, 10, 11];
    static file = "destructuring.ts";
    static fn;
}
unpack$Frame.fn = unpack;
$rt.registerFrame(unpack$Frame);
class params$Frame extends $rt.Frame {
    static id = "destructuring.ts#params";
    static layout = "e1bd129c77679bf1";
    static fields = ["name", "times", "sep", "more"];
    static sites = [0, 16];
    static file = "destructuring.ts";
    static fn;
}
params$Frame.fn = params;
$rt.registerFrame(params$Frame);
async function fallback() {
    const $t = $rt.currentThread(), $d = $t.depth, $f = $t.enter(fallback$Frame);
    let $pc = $f.pc;
    if ($pc === 1) {
        $pc = 0;
    }
    else if ($t.due()) {
        $f.pc = 1;
        await $t.snapshot($d);
    }
    return 'default';
}
export async function unpack(config) {
    const $t = $rt.currentThread(), $d = $t.depth, $f = $t.enter(unpack$Frame);
    let $pc = $f.pc;
    let $v1, $v2, $v3;
    if ($pc !== 0) {
        config = $f.config;
        $v1 = $f.$v1;
    }
    let host = $pc === 0 ? void 0 : $f.host, port = $pc === 0 ? void 0 : $f.port, rest = $pc === 0 ? void 0 : $f.rest;
    if ($pc === 0) {
        $v1 = config;
        $v2 = $v1.host;
    }
    if ($pc <= 1) {
        if ($pc !== 0 || $v2 === void 0) {
            if ($pc === 1) {
                $pc = 0;
                $t.depth = $d + 1;
                $v2 = await $t.resumeCall();
            }
            else {
                $t.depth = $d + 1;
                $f.pc = 1;
                $f.config = config;
                $f.$v1 = $v1;
                $v2 = await $t.called(fallback());
            }
        }
    }
    if ($pc === 0) {
        host = $v2;
        port = $v1.port;
        $v3 = { ...$v1 };
        delete $v3.host;
        delete $v3.port;
        rest = $v3;
    }
    if ($pc === 2) {
        $pc = 0;
    }
    else if ($t.due()) {
        $f.pc = 2;
        $f.config = config;
        $f.host = host;
        $f.port = port;
        $f.rest = rest;
        await $t.snapshot($d);
    }
    return `${host}:${port} ${rest.tags.join(',')}`;
}
$rt.registerExport(unpack, import.meta.url, "unpack");
export async function params(name, times, $p1, ...more) {
    const $t = $rt.currentThread(), $d = $t.depth, $f = $t.enter(params$Frame);
    let $pc = $f.pc;
    let sep;
    if ($pc !== 0) {
        name = $f.name;
        times = $f.times;
        sep = $f.sep;
        more = $f.more;
    }
    else {
        if (times === void 0)
            times = 2;
        ({ sep } = $p1 === void 0 ? { sep: '-' } : $p1);
    }
    if ($pc === 1) {
        $pc = 0;
    }
    else if ($t.due()) {
        $f.pc = 1;
        $f.name = name;
        $f.times = times;
        $f.sep = sep;
        $f.more = more;
        await $t.snapshot($d);
    }
    return [name, times, sep, ...more].join(sep);
}
$rt.registerExport(params, import.meta.url, "params");
//# sourceMappingURL=destructuring.js.map