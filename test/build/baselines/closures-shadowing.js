import * as $rt from "ppp2p/runtime";
// Closures (not frame fields: re-created on resume), a hoisted nested function, and names renamed
// apart where a block shadows them. (`var` is covered by run.test.ts: lint forbids it here.)
import { checkpoint } from 'ppp2p/thread';
class closures$Frame extends $rt.Frame {
    static id = "closures-shadowing.ts#closures";
    static layout = "81ad68fa4b4f2ef5";
    static fields = ["trace", "count", "x", "x$1", "copy"];
    static sites = [0, 10, 16];
    static file = "closures-shadowing.ts";
    static fn;
}
closures$Frame.fn = closures;
$rt.registerFrame(closures$Frame);
export async function closures() {
    const $t = $rt.currentThread(), $d = $t.depth, $f = $t.enter(closures$Frame);
    let $pc = $f.pc;
    const trace = $pc === 0 ? [] : $f.trace;
    let count = $pc === 0 ? 0 : $f.count;
    const inc = (by) => (count += by);
    if ($pc === 0) {
        inc(2);
    }
    if ($pc === 1) {
        $pc = 0;
    }
    else if ($pc === 0 && $t.due()) {
        $f.pc = 1;
        $f.trace = trace;
        $f.count = count;
        await $t.snapshot($d);
    }
    if ($pc === 0) {
        trace.push(describe());
    }
    const x = $pc === 0 ? 'outer' : $f.x;
    {
        const x$1 = $pc === 0 ? 'inner' : $f.x$1;
        const copy = $pc === 0 ? x$1 : $f.copy;
        if ($pc === 2) {
            $pc = 0;
        }
        else if ($t.due()) {
            $f.pc = 2;
            $f.trace = trace;
            $f.count = count;
            $f.x = x;
            $f.x$1 = x$1;
            $f.copy = copy;
            await $t.snapshot($d);
        }
        trace.push(x$1, copy);
    }
    trace.push(x);
    return trace;
    function describe() {
        return `count=${count}`;
    }
}
$rt.registerExport(closures, import.meta.url, "closures");
//# sourceMappingURL=closures-shadowing.js.map