// Stand-in for https://js.paystack.co/v1/inline.js, served to the browser by the e2e suite.
// PaystackPop.setup(cfg).openIframe() opens the local Paystack stand-in's checkout page for
// cfg.ref in a window; when that window closes it asks the stand-in how the transaction ended
// and calls cfg.callback (paid) or cfg.onClose (not paid), as Paystack's inline script does.
(function () {
  function finish(cfg, reference) {
    fetch('/__paystack_standin/status/' + encodeURIComponent(reference))
      .then(function (response) { return response.json(); })
      .then(function (tx) {
        if (tx.status === 'success') {
          cfg.callback({ status: 'success', reference: reference, trxref: reference, message: 'Approved',
                         trans: String(tx.id), transaction: String(tx.id) });
        } else if (typeof cfg.onClose === 'function') {
          cfg.onClose();
        }
      });
  }
  window.PaystackPop = {
    setup: function (cfg) {
      return {
        openIframe: function () {
          var reference = cfg.ref || cfg.reference;
          var checkout = window.open('/__paystack_standin/checkout/' + encodeURIComponent(reference),
                                     'paystack-standin');
          var timer = setInterval(function () {
            if (!checkout || checkout.closed) {
              clearInterval(timer);
              finish(cfg, reference);
            }
          }, 250);
        },
      };
    },
  };
})();
