import * as $rt from "ppp2p/runtime";
// Checkpoint sites and call sites in a loop; `return await` of a checkpointable call.
import { checkpoint } from 'ppp2p/thread';
class island$Frame extends $rt.Frame {
    static id = "checkpoint-sites.ts#island";
    static layout = "4089d1e5a905b9ba";
    static fields = ["seed", "gens", "best", "g"];
    static sites = [0, 8, 9];
    static file = "checkpoint-sites.ts";
    static fn;
}
island$Frame.fn = island;
$rt.registerFrame(island$Frame);
class evolve$Frame extends $rt.Frame {
    static id = "checkpoint-sites.ts#evolve";
    static layout = "53df23fb8f0cd446";
    static fields = ["x"];
    static sites = [0, 15];
    static file = "checkpoint-sites.ts";
    static fn;
}
evolve$Frame.fn = evolve;
$rt.registerFrame(evolve$Frame);
class twice$Frame extends $rt.Frame {
    static id = "checkpoint-sites.ts#twice";
    static layout = "8c3e57df70770a56";
    static fields = ["x"];
    static sites = [0, 20, 21];
    static file = "checkpoint-sites.ts";
    static fn;
}
twice$Frame.fn = twice;
$rt.registerFrame(twice$Frame);
export async function island(seed, gens) {
    const $t = $rt.currentThread(), $d = $t.depth, $f = $t.enter(island$Frame);
    let $pc = $f.pc;
    if ($pc !== 0) {
        seed = $f.seed;
        gens = $f.gens;
    }
    let best = $pc === 0 ? seed : $f.best;
    for (let g = $pc === 0 ? 0 : $f.g; $pc !== 0 || g < gens; g++) {
        if ($pc === 0) {
            best = best * 2 + g;
        }
        if ($pc === 1) {
            $pc = 0;
        }
        else if ($pc === 0 && $t.due()) {
            $f.pc = 1;
            $f.seed = seed;
            $f.gens = gens;
            $f.best = best;
            $f.g = g;
            await $t.snapshot($d);
        }
        if ($pc === 2) {
            $pc = 0;
            $t.depth = $d + 1;
            best = await $t.resumeCall();
        }
        else {
            $t.depth = $d + 1;
            $f.pc = 2;
            $f.seed = seed;
            $f.gens = gens;
            $f.best = best;
            $f.g = g;
            best = await $t.called(evolve(best));
        }
    }
    return best;
}
$rt.registerExport(island, import.meta.url, "island");
async function evolve(x) {
    const $t = $rt.currentThread(), $d = $t.depth, $f = $t.enter(evolve$Frame);
    let $pc = $f.pc;
    if ($pc !== 0) {
        x = $f.x;
    }
    if ($pc === 1) {
        $pc = 0;
    }
    else if ($t.due()) {
        $f.pc = 1;
        $f.x = x;
        await $t.snapshot($d);
    }
    return x + 1;
}
export async function twice(x) {
    const $t = $rt.currentThread(), $d = $t.depth, $f = $t.enter(twice$Frame);
    let $pc = $f.pc;
    if ($pc !== 0) {
        x = $f.x;
    }
    if ($pc === 1) {
        $pc = 0;
        $t.depth = $d + 1;
        await $t.resumeCall();
    }
    else if ($pc === 0) {
        $t.depth = $d + 1;
        $f.pc = 1;
        $f.x = x;
        await $t.called(evolve(x));
    }
    if ($pc === 2) {
        $pc = 0;
        $t.depth = $d + 1;
        return await $t.resumeCall();
    }
    else {
        $t.depth = $d + 1;
        $f.pc = 2;
        $f.x = x;
        return await $t.called(evolve(x + 1));
    }
}
$rt.registerExport(twice, import.meta.url, "twice");
//# sourceMappingURL=checkpoint-sites.js.map