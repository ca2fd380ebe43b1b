// One QR camera for every page that reads codes: the kiosk's ticket scanner, the phone's badge scanner, the
// sponsor's lead scanner. The browser's BarcodeDetector where it reads QR codes (Android Chrome), the vendored
// jsQR elsewhere (desktop Chromium, iOS Safari). Needs a secure context: callers check before offering it.

const JSQR = "/static/vendor/jsqr/jsQR.js";
const REPEAT_MS = 3000;     // the same code again within this time is the same scan (the badge is still in view)
const FRAME_MS = 120;       // between decode attempts: enough for a held-up code, light on a phone's battery
const MAX_SIDE = 800;       // frames are scaled down to this for jsQR: faster, and a badge QR is still readable

let jsqrLoading = null;

function loadJsQR() {
  if (window.jsQR) return Promise.resolve();
  jsqrLoading ??= new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = JSQR;
    script.onload = resolve;
    script.onerror = () => { jsqrLoading = null; reject(new Error("jsQR did not load")); };
    document.head.append(script);
  });
  return jsqrLoading;
}

async function makeDecoder() {
  if ("BarcodeDetector" in window) {
    try {
      const formats = (await window.BarcodeDetector.getSupportedFormats?.()) ?? [];
      if (formats.includes("qr_code")) {
        const detector = new window.BarcodeDetector({ formats: ["qr_code"] });
        return async (video) => (await detector.detect(video))[0]?.rawValue ?? null;
      }
    } catch { /* a detector that cannot start: fall back to jsQR */ }
  }
  await loadJsQR();
  const canvas = document.createElement("canvas");
  const context = canvas.getContext("2d", { willReadFrequently: true });
  return async (video) => {
    if (!video.videoWidth) return null;
    const scale = Math.min(1, MAX_SIDE / Math.max(video.videoWidth, video.videoHeight));
    canvas.width = Math.round(video.videoWidth * scale);
    canvas.height = Math.round(video.videoHeight * scale);
    context.drawImage(video, 0, 0, canvas.width, canvas.height);
    const image = context.getImageData(0, 0, canvas.width, canvas.height);
    return window.jsQR(image.data, image.width, image.height, { inversionAttempts: "dontInvert" })?.data ?? null;
  };
}

// A short beep and a buzz: the scan worked, look at the screen. The AudioContext is made while the tap that opened
// the camera is still being handled (browsers only let a page make sound after a gesture).
function confirmer() {
  let audio = null;
  try { audio = new (window.AudioContext || window.webkitAudioContext)(); } catch { audio = null; }
  return {
    confirm() {
      navigator.vibrate?.(80);
      if (!audio) return;
      try {
        if (audio.state === "suspended") audio.resume();
        const tone = audio.createOscillator();
        const gain = audio.createGain();
        tone.frequency.value = 1200;
        gain.gain.setValueAtTime(0.15, audio.currentTime);
        gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.12);
        tone.connect(gain).connect(audio.destination);
        tone.start();
        tone.stop(audio.currentTime + 0.13);
      } catch { /* no sound is fine */ }
    },
    close() { audio?.close?.().catch(() => {}); },
  };
}

/**
 * Open the camera into `video` and call `onCode(text)` for each QR code read (the same code at most once in 3 s).
 * `onStatus(state)` hears "starting", "scanning" and "stopped". Rejects when there is no camera or it is refused.
 * Resolves to `{stop()}`, with `torch(on)` too when the camera has a light.
 */
export async function openScanner({ video, onCode, onStatus = () => {}, facingMode = "environment" }) {
  onStatus("starting");
  const feedback = confirmer();
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      video: { facingMode: { ideal: facingMode }, width: { ideal: 1280 }, height: { ideal: 720 } }, audio: false,
    });
  } catch (err) {
    feedback.close();
    onStatus("stopped");
    throw err;
  }
  const [track] = stream.getVideoTracks();
  let running = true;
  let timer = null;
  let last = { code: null, at: 0 };

  function stop() {
    if (!running) return;
    running = false;
    clearTimeout(timer);
    stream.getTracks().forEach((t) => t.stop());
    video.srcObject = null;
    feedback.close();
    onStatus("stopped");
  }

  video.setAttribute("playsinline", "");  // iOS: in the page, not full screen
  video.muted = true;
  video.srcObject = stream;
  let decode;
  try {
    await video.play();
    decode = await makeDecoder();
  } catch (err) {
    stop();
    throw err;
  }

  async function frame() {
    if (!running) return;
    let code = null;
    try { code = await decode(video); } catch { code = null; }
    if (running && code) {
      const now = Date.now();
      if (code !== last.code || now - last.at > REPEAT_MS) {
        feedback.confirm();
        try { onCode(code); } catch (err) { console.error(err); }
      }
      last = { code, at: now };
    }
    if (running) timer = setTimeout(frame, FRAME_MS);
  }
  onStatus("scanning");
  frame();

  const scanner = { stop };
  const capabilities = track.getCapabilities?.() ?? {};
  if (capabilities.torch) {
    scanner.torch = (on) => track.applyConstraints({ advanced: [{ torch: Boolean(on) }] });
  }
  return scanner;
}
