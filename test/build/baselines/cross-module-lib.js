import * as $rt from "ppp2p/runtime";
// The callee module of cross-module.ts.
import { checkpoint as cp } from 'ppp2p/thread';
class step$Frame extends $rt.Frame {
    static id = "cross-module-lib.ts#step";
    static layout = "229172f23d367ae6";
    static fields = ["n"];
    static sites = [0, 5];
    static file = "cross-module-lib.ts";
    static fn;
}
step$Frame.fn = step;
$rt.registerFrame(step$Frame);
class Tally$addSlowly$Frame extends $rt.Frame {
    static id = "cross-module-lib.ts#Tally.addSlowly";
    static layout = "ed521cee3f8afdfd";
    static fields = ["n", "self"];
    static sites = [0, 12];
    static file = "cross-module-lib.ts";
    static fn;
}
$rt.registerFrame(Tally$addSlowly$Frame);
export async function step(n) {
    const $t = $rt.currentThread(), $d = $t.depth, $f = $t.enter(step$Frame);
    let $pc = $f.pc;
    if ($pc !== 0) {
        n = $f.n;
    }
    if ($pc === 1) {
        $pc = 0;
    }
    else if ($t.due()) {
        $f.pc = 1;
        $f.n = n;
        await $t.snapshot($d);
    }
    return n + 1;
}
$rt.registerExport(step, import.meta.url, "step");
export class Tally {
    total = 0;
    async addSlowly(n) {
        const $t = $rt.currentThread(), $d = $t.depth, $f = $t.enter(Tally$addSlowly$Frame);
        let $pc = $f.pc;
        if ($pc !== 0) {
            n = $f.n;
        }
        if ($pc === 1) {
            $pc = 0;
        }
        else if ($t.due()) {
            $f.pc = 1;
            $f.n = n;
            $f.self = this;
            await $t.snapshot($d);
        }
        this.total += n;
    }
}
Tally$addSlowly$Frame.fn = Tally.prototype.addSlowly;
$rt.registerClass(Tally, "cross-module-lib.ts#Tally");
//# sourceMappingURL=cross-module-lib.js.map