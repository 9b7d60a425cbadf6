import * as $rt from "ppp2p/runtime";
// try/catch with sites in the try block and in the catch block (resume through a sentinel throw).
import { checkpoint } from 'ppp2p/thread';
class guarded$Frame extends $rt.Frame {
    static id = "try-catch.ts#guarded";
    static layout = "24174fec3df78d28";
    static fields = ["fail", "err"];
    static sites = [0, 6, 10];
    static file = "try-catch.ts";
    static fn;
}
guarded$Frame.fn = guarded;
$rt.registerFrame(guarded$Frame);
export async function guarded(fail) {
    const $t = $rt.currentThread(), $d = $t.depth, $f = $t.enter(guarded$Frame);
    let $pc = $f.pc;
    if ($pc !== 0) {
        fail = $f.fail;
    }
    try {
        if ($pc >= 2)
            throw $f;
        if ($pc === 1) {
            $pc = 0;
        }
        else if ($t.due()) {
            $f.pc = 1;
            $f.fail = fail;
            await $t.snapshot($d);
        }
        if (fail)
            throw new Error('failed');
        return 'ok';
    }
    catch (err) {
        if ($pc !== 0)
            err = $f.err;
        if ($pc === 2) {
            $pc = 0;
        }
        else if ($t.due()) {
            $f.pc = 2;
            $f.fail = fail;
            $f.err = err;
            await $t.snapshot($d);
        }
        return err.message;
    }
}
$rt.registerExport(guarded, import.meta.url, "guarded");
//# sourceMappingURL=try-catch.js.map