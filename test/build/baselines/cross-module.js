import * as $rt from "ppp2p/runtime";
// Calls into another module of the build: an imported function (under an alias) and a method.
import { step as advance, Tally } from "./cross-module-lib.js";
class main$Frame extends $rt.Frame {
    static id = "cross-module.ts#main";
    static layout = "37c6a0fc9dae54a4";
    static fields = ["t", "a"];
    static sites = [0, 6, 7];
    static file = "cross-module.ts";
    static fn;
}
main$Frame.fn = main;
$rt.registerFrame(main$Frame);
export async function main() {
    const $t = $rt.currentThread(), $d = $t.depth, $f = $t.enter(main$Frame);
    let $pc = $f.pc;
    const t = $pc === 0 ? new Tally() : $f.t;
    let a = $pc === 0 ? void 0 : $f.a;
    if ($pc === 1) {
        $pc = 0;
        $t.depth = $d + 1;
        a = await $t.resumeCall();
    }
    else if ($pc === 0) {
        $t.depth = $d + 1;
        $f.pc = 1;
        $f.t = t;
        a = await $t.called(advance(1));
    }
    if ($pc === 2) {
        $pc = 0;
        $t.depth = $d + 1;
        await $t.resumeCall();
    }
    else {
        $t.depth = $d + 1;
        $f.pc = 2;
        $f.t = t;
        $f.a = a;
        await $t.called(t.addSlowly(a));
    }
    return t.total;
}
$rt.registerExport(main, import.meta.url, "main");
//# sourceMappingURL=cross-module.js.map